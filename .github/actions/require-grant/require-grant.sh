#!/usr/bin/env bash
# require-grant: stop a job early, with one annotation per secret, when a secret it needs is
# not granted to its environment right now.
#
# Reads secret NAMES from its inputs (set by action.yml as environment variables):
#   INPUT_SECRETS      names, separated by commas and/or new lines
#   INPUT_ENVIRONMENT  the environment the job targets (for the message)
#   INPUT_HELP_URL     where to read how to request access (for the message)
# The VALUES arrive as environment variables named JIT_SECRET_<NAME>, set by the caller's
# `env:` (JIT_SECRET_PROD_DB_URL: ${{ secrets.PROD_DB_URL }}). They are read from the process
# environment with printenv, never through a shell variable of the secret's own name: bash
# gives names such as SECONDS, RANDOM, PWD or IFS values of its own. A value is only tested for
# being non-empty: it is never printed, never evaluated, never masked here (GitHub already masks
# secrets), and never stored in a shell variable.
#
# Names that shadow a variable of the shell or of the Actions runner (PATH, HOME, IFS, LC_ALL,
# SECONDS, RUNNER_TEMP, …) are refused: a later step could not receive the secret under its
# name without breaking the shell or the runner.
#
# Exit status: 0 all present, 1 at least one not granted, 2 usage error.

set +xv # a caller's SHELLOPTS=xtrace would otherwise trace the value checks below
set -euo pipefail
LC_ALL=C # ASCII ranges in the name patterns below, whatever the runner's locale

# Escapes text for the message part of a workflow command (`::error ...::<message>`), so that
# input text can neither break the annotation nor start a new workflow command.
_rg_escape_message() {
  local _rg_text=$1
  _rg_text=${_rg_text//'%'/'%25'}
  _rg_text=${_rg_text//$'\r'/'%0D'}
  _rg_text=${_rg_text//$'\n'/'%0A'}
  printf '%s' "$_rg_text"
}

_rg_usage_error() {
  printf '::error title=require-grant usage::%s\n' "$(_rg_escape_message "$1")"
}

# What NAME (compared upper-case, as GitHub compares secret names) is a variable of, or nothing.
_rg_shadowed_variable() {
  local _rg_upper
  _rg_upper=$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')
  case $_rg_upper in
    BASH | BASHOPTS | BASHPID | BASH_* | CDPATH | CHILD_MAX | COLUMNS | COMP_* | COMPREPLY | COPROC | DIRSTACK | \
      EMACS | ENV | EPOCHREALTIME | EPOCHSECONDS | EUID | EXECIGNORE | FCEDIT | FIGNORE | FUNCNAME | FUNCNEST | \
      GLOBIGNORE | GLOBSORT | GROUPS | HISTCMD | HISTCONTROL | HISTFILE | HISTFILESIZE | HISTIGNORE | HISTSIZE | \
      HISTTIMEFORMAT | HOME | HOSTFILE | HOSTNAME | HOSTTYPE | IFS | IGNOREEOF | INPUTRC | INSIDE_EMACS | LANG | \
      LANGUAGE | LC_* | LINENO | LINES | LOGNAME | MACHTYPE | MAIL | MAILCHECK | MAILPATH | MAPFILE | OLDPWD | \
      OPTARG | OPTERR | OPTIND | OSTYPE | PATH | PIPESTATUS | POSIXLY_CORRECT | PPID | PROMPT_COMMAND | \
      PROMPT_DIRTRIM | PS0 | PS1 | PS2 | PS3 | PS4 | PWD | RANDOM | READLINE_* | REPLY | SECONDS | SHELL | \
      SHELLOPTS | SHLVL | SRANDOM | TERM | TIMEFORMAT | TMOUT | TMPDIR | TZ | UID | USER)
      printf 'a shell variable' ;;
    CI | RUNNER_* | ACTIONS_* | INPUT_* | STATE_* | JIT_SECRET_*)
      printf 'a variable of the Actions runner or of this action' ;;
  esac
}

_rg_environment=${INPUT_ENVIRONMENT-}
_rg_help=${INPUT_HELP_URL-}
if [ -z "$_rg_help" ]; then
  _rg_help="the jit-access README on requesting access"
fi

_rg_usage_errors=0
if [ -z "$_rg_environment" ]; then
  _rg_usage_error "the environment input is empty; set it to the environment this job targets, e.g. environment: production"
  _rg_usage_errors=$((_rg_usage_errors + 1))
fi

# Split the list on commas and new lines; trim blanks; skip empty entries; drop duplicates.
# An entry that is not a name is reported by its position only: if a value was passed here by
# mistake, it must not reach the log.
_rg_names=()
_rg_position=0
_rg_list=${INPUT_SECRETS-}
_rg_list=${_rg_list//,/$'\n'}
while IFS= read -r _rg_entry || [ -n "$_rg_entry" ]; do
  _rg_entry=${_rg_entry#"${_rg_entry%%[![:space:]]*}"}
  _rg_entry=${_rg_entry%"${_rg_entry##*[![:space:]]}"}
  [ -n "$_rg_entry" ] || continue
  _rg_position=$((_rg_position + 1))
  if ! [[ $_rg_entry =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    _rg_usage_error "entry $_rg_position of the secrets input is not a secret name: use letters, digits and _ only, not starting with a digit, separated by commas or new lines (pass names here and values through env:)"
    _rg_usage_errors=$((_rg_usage_errors + 1))
    continue
  fi
  if [[ $_rg_entry =~ ^[Gg][Ii][Tt][Hh][Uu][Bb]_ ]]; then
    _rg_usage_error "entry $_rg_position of the secrets input ($_rg_entry) starts with GITHUB_, which GitHub reserves; no secret can have that name"
    _rg_usage_errors=$((_rg_usage_errors + 1))
    continue
  fi
  _rg_shadowed=$(_rg_shadowed_variable "$_rg_entry")
  if [ -n "$_rg_shadowed" ]; then
    _rg_usage_error "entry $_rg_position of the secrets input ($_rg_entry) is the name of $_rg_shadowed, so a step cannot receive the secret under that name; ask for the secret to be renamed"
    _rg_usage_errors=$((_rg_usage_errors + 1))
    continue
  fi
  _rg_seen=no
  for _rg_known in ${_rg_names[@]+"${_rg_names[@]}"}; do
    if [ "$_rg_known" = "$_rg_entry" ]; then _rg_seen=yes; fi
  done
  if [ "$_rg_seen" = no ]; then _rg_names+=("$_rg_entry"); fi
done <<<"$_rg_list"

if [ "$_rg_position" -eq 0 ]; then
  _rg_usage_error "the secrets input lists no names; set it to the names of the secrets this job needs, e.g. secrets: PROD_DB_URL"
  _rg_usage_errors=$((_rg_usage_errors + 1))
fi
if [ "$_rg_usage_errors" -gt 0 ]; then
  exit 2
fi

# Each value is read from the environment entry JIT_SECRET_<NAME>, by printenv, never by a
# shell expansion. An entry that is not set at all (rather than empty, as GitHub sets a secret
# that does not exist) is the caller's mistake, reported as such.
_rg_unset=0
for _rg_name in "${_rg_names[@]}"; do
  if ! printenv -- "JIT_SECRET_$_rg_name" >/dev/null; then
    _rg_usage_error "JIT_SECRET_$_rg_name is not set on this step; add it to the step's env: as JIT_SECRET_$_rg_name: \${{ secrets.$_rg_name }} (the action reads values only from JIT_SECRET_ entries)"
    _rg_unset=$((_rg_unset + 1))
  fi
done
if [ "$_rg_unset" -gt 0 ]; then
  exit 2
fi

_rg_missing=0
for _rg_name in "${_rg_names[@]}"; do
  # printenv prints the value and a new line: more than one byte means a value is there.
  _rg_bytes=$(printenv -- "JIT_SECRET_$_rg_name" | wc -c)
  if [ "$_rg_bytes" -le 1 ]; then
    printf '::error title=Secret not granted::%s\n' "$(_rg_escape_message "$_rg_name is not granted to environment $_rg_environment right now; request it by adding an entry to jit-requests.yml (see $_rg_help). Where jit-access is the environment's deployment protection rule, it lets a job start only in a run that the grant's requester started (and re-ran); it rejects any other run before its jobs start, with the reason on the run's page")"
    _rg_missing=$((_rg_missing + 1))
  fi
done
if [ "$_rg_missing" -gt 0 ]; then
  exit 1
fi

_rg_joined=$(printf '%s, ' "${_rg_names[@]}")
printf 'Available to this job in environment %s: %s\n' "$(_rg_escape_message "$_rg_environment")" "${_rg_joined%, }"
