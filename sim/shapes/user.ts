import type { SimAccount } from "../model/types.js";
import { nodeId, type Urls } from "./urls.js";

/** GitHub's `simple-user` shape. */
export function simpleUser(urls: Urls, account: SimAccount): Record<string, unknown> {
  const url = `${urls.api}/users/${encodeURIComponent(account.login)}`;
  return {
    login: account.login,
    id: account.id,
    node_id: nodeId(account.type, account.id),
    avatar_url: `${urls.web}/avatars/u/${account.id}?v=4`,
    gravatar_id: "",
    url,
    html_url: account.type === "Bot" ? `${urls.web}/apps/${account.login.replace(/\[bot\]$/, "")}` : `${urls.web}/${account.login}`,
    followers_url: `${url}/followers`,
    following_url: `${url}/following{/other_user}`,
    gists_url: `${url}/gists{/gist_id}`,
    starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`,
    organizations_url: `${url}/orgs`,
    repos_url: `${url}/repos`,
    events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`,
    type: account.type,
    user_view_type: "public",
    site_admin: false,
  };
}
