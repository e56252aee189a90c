/**
 * Checks requests (and, in tests, the simulator's own responses) against GitHub's REST API
 * description from @octokit/openapi. The description is large: it is read once per process,
 * on first use, and only the schemas actually needed are compiled.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

type Json = Record<string, unknown>;

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Json;
  "x-multi-segment"?: boolean;
}

interface Operation {
  parameters?: Array<Parameter | { $ref: string }>;
  requestBody?: Json;
  responses?: Record<string, Json>;
}

type Segment = { literal: string } | { param: string; multi: boolean };

interface Template {
  path: string;
  method: string;
  segments: Segment[];
  literals: number;
  operation: Operation;
  parameters: Parameter[];
}

export interface OperationMatch {
  /** e.g. "/repos/{owner}/{repo}/pulls/{pull_number}" */
  template: string;
  /** Percent-decoded path parameters. */
  params: Record<string, string>;
  /** Problems with the path parameters themselves (e.g. a non-numeric pull number). */
  problems: string[];
  readonly key: Template;
}

/**
 * Places where the description contradicts what GitHub actually sends; responses are not
 * held to it there.
 */
const RESPONSE_QUIRKS: Array<{ route: string; at: RegExp; why: string }> = [
  {
    route: "GET /app/installations",
    at: /^\/\d+\/account$/,
    why: "the inlined schema requires the account to be both a user and an enterprise (allOf); the referenced `installation` schema says anyOf",
  },
];

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const require = createRequire(import.meta.url);
const SPEC_PATH = require.resolve("@octokit/openapi/generated/api.github.com.json");
const METHODS = ["get", "post", "put", "patch", "delete", "head"];

let loading: Promise<OpenApiCheck> | undefined;

/** The shared checker; the description is parsed once per process. */
export function loadOpenApiCheck(): Promise<OpenApiCheck> {
  loading ??= readFile(SPEC_PATH, "utf8").then((text) => new OpenApiCheck(JSON.parse(text) as Json));
  return loading;
}

function isRef(value: unknown): value is { $ref: string } {
  return typeof value === "object" && value !== null && typeof (value as Json).$ref === "string";
}

const DEFS_PREFIX = "#/$defs/";

/** "#/components/schemas/x" -> "components__schemas__x": a key under the bundle's $defs. */
function defKey(ref: string): string {
  return ref.replace(/^#\//, "").split("/").join("__");
}

/**
 * Prepares an OpenAPI 3.0 schema for Ajv: local refs point into the bundle's `$defs`, and
 * `nullable` works as OpenAPI means it (Ajv needs a `type` beside it, and null in an `enum`).
 */
function prepareSchema(value: unknown, refs: Set<string>): unknown {
  if (Array.isArray(value)) return value.map((item) => prepareSchema(item, refs));
  if (typeof value !== "object" || value === null) return value;
  const out: Json = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === "$ref" && typeof inner === "string" && inner.startsWith("#/")) {
      refs.add(inner);
      out[key] = `${DEFS_PREFIX}${defKey(inner)}`;
    } else {
      out[key] = prepareSchema(inner, refs);
    }
  }
  if (out.nullable === true && out.type === undefined) {
    const rest: Json = { ...out };
    delete rest.nullable;
    return { anyOf: [{ type: "null" }, rest] };
  }
  if (out.nullable === true && Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...(out.enum as unknown[]), null];
  return out;
}

function formatErrors(where: string, errors: ErrorObject[] | null | undefined): string[] {
  const seen = new Set<string>();
  for (const error of errors ?? []) {
    const at = `${where}${error.instancePath}`;
    const detail =
      error.keyword === "required"
        ? `"${String((error.params as Json).missingProperty)}" wasn't supplied`
        : error.keyword === "additionalProperties"
          ? `"${String((error.params as Json).additionalProperty)}" is not a permitted key`
          : (error.message ?? error.keyword);
    seen.add(`${at}: ${detail}`);
  }
  return [...seen];
}

export class OpenApiCheck {
  private readonly templates: Template[] = [];
  private readonly ajv: Ajv;
  private readonly validators = new Map<string, ValidateFunction | null>();

  constructor(private readonly spec: Json) {
    this.ajv = addFormats(new Ajv({ strict: false, allErrors: true, validateSchema: false, addUsedSchema: false }));
    const paths = spec.paths as Record<string, Json>;
    for (const [path, item] of Object.entries(paths)) {
      for (const method of METHODS) {
        const operation = item[method] as Operation | undefined;
        if (!operation) continue;
        const parameters = [...((item.parameters as Parameter[] | undefined) ?? []), ...(operation.parameters ?? [])].map((p) =>
          this.resolve<Parameter>(p),
        );
        const segments = path
          .split("/")
          .slice(1)
          .map((part): Segment => {
            const name = /^\{(.+)\}$/.exec(part)?.[1];
            if (name === undefined) return { literal: part };
            return { param: name, multi: parameters.some((p) => p.name === name && p["x-multi-segment"] === true) };
          });
        this.templates.push({
          path,
          method: method.toUpperCase(),
          segments,
          literals: segments.filter((s) => "literal" in s).length,
          operation,
          parameters,
        });
      }
    }
  }

  /** `schema` with every component it references (transitively) under `$defs`. */
  private bundle(schema: unknown): Json {
    const refs = new Set<string>();
    const root = prepareSchema(schema, refs) as Json;
    const defs: Json = {};
    const pending = [...refs];
    for (let ref = pending.pop(); ref !== undefined; ref = pending.pop()) {
      const key = defKey(ref);
      if (key in defs) continue;
      const found = new Set<string>();
      defs[key] = prepareSchema(this.resolve<Json>({ $ref: ref }), found);
      pending.push(...found);
    }
    return { ...root, $defs: defs };
  }

  private resolve<T>(value: T | { $ref: string }): T {
    let current: unknown = value;
    for (let depth = 0; isRef(current) && depth < 10; depth += 1) {
      const parts = current.$ref.replace(/^#\//, "").split("/");
      current = parts.reduce<unknown>((node, part) => (node as Json | undefined)?.[part], this.spec);
    }
    return current as T;
  }

  /** Whether any operation exists for this path, whatever the method. */
  hasPath(rawPath: string): boolean {
    return METHODS.some((method) => this.match(method.toUpperCase(), rawPath) !== undefined);
  }

  /** The most specific operation for `method` and the raw (still percent-encoded) path. */
  match(method: string, rawPath: string): OperationMatch | undefined {
    const parts = rawPath.split("/").slice(1);
    let best: { template: Template; params: Record<string, string> } | undefined;
    for (const template of this.templates) {
      if (template.method !== method) continue;
      const params = matchSegments(template.segments, parts);
      if (!params) continue;
      if (!best || template.literals > best.template.literals) best = { template, params };
    }
    if (!best) return undefined;
    const problems: string[] = [];
    for (const parameter of best.template.parameters) {
      const value = best.params[parameter.name];
      if (parameter.in !== "path" || value === undefined) continue;
      const problem = checkScalar(parameter, value);
      if (problem) problems.push(`path parameter "${parameter.name}" ${problem}`);
    }
    return { template: best.template.path, params: best.params, problems, key: best.template };
  }

  /** Problems with the query string and JSON body of a matched request. */
  checkRequest(match: OperationMatch, query: URLSearchParams, body: unknown): string[] {
    const problems: string[] = [];
    for (const parameter of match.key.parameters) {
      if (parameter.in !== "query") continue;
      const value = query.get(parameter.name);
      if (value === null) {
        if (parameter.required) problems.push(`query parameter "${parameter.name}" is required`);
        continue;
      }
      const problem = checkScalar(parameter, value);
      if (problem) problems.push(`query parameter "${parameter.name}" ${problem}`);
    }
    const requestBody = match.key.operation.requestBody ? this.resolve<Json>(match.key.operation.requestBody) : undefined;
    if (body === undefined) {
      if (requestBody?.required === true) problems.push("a JSON request body is required");
      return problems;
    }
    const validate = this.validator(`request ${match.key.method} ${match.template}`, () => jsonSchemaOf(requestBody));
    if (!validate) return problems;
    if (!validate(body)) problems.push(...formatErrors("body", validate.errors));
    return problems;
  }

  /** Problems with a JSON response the simulator produced (used by the simulator's own tests). */
  checkResponse(match: OperationMatch, status: number, body: unknown): string[] {
    const responses = match.key.operation.responses ?? {};
    const documented = responses[String(status)] ?? responses.default;
    if (!documented) return status < 400 ? [`status ${status} is not documented for ${match.key.method} ${match.template}`] : [];
    const validate = this.validator(`response ${match.key.method} ${match.template} ${status}`, () =>
      jsonSchemaOf(this.resolve<Json>(documented)),
    );
    if (!validate || body === undefined || validate(body)) return [];
    const route = `${match.key.method} ${match.template}`;
    const errors = (validate.errors ?? []).filter(
      (error) => !RESPONSE_QUIRKS.some((quirk) => quirk.route === route && quirk.at.test(error.instancePath)),
    );
    return formatErrors("response", errors);
  }

  /**
   * Problems with `value` as the description's `components.schemas[name]` (e.g.
   * "app-permissions"); with `closed`, properties the schema does not name are problems too.
   */
  checkSchema(name: string, value: unknown, options: { closed?: boolean } = {}): string[] {
    const schema = (this.spec.components as Json | undefined)?.schemas as Record<string, Json> | undefined;
    const own = schema?.[name];
    if (own === undefined) throw new Error(`GitHub's description has no schema "${name}".`);
    const validate = this.validator(`schema ${name}`, () => ({ $ref: `#/components/schemas/${name}` }));
    const problems = validate && !validate(value) ? formatErrors(name, validate.errors) : [];
    if (options.closed && typeof value === "object" && value !== null && typeof own.properties === "object" && own.properties !== null) {
      for (const key of Object.keys(value))
        if (!(key in (own.properties as Json))) problems.push(`${name}: "${key}" is not one of its properties`);
    }
    return problems;
  }

  /**
   * Problems with a webhook payload, against the description's schema of that delivery
   * (`x-webhooks`, e.g. `deployment-protection-rule-requested`). Throws for a name the
   * description does not have.
   */
  checkWebhook(name: string, payload: unknown): string[] {
    const webhooks = (this.spec["x-webhooks"] ?? {}) as Record<string, { post?: Operation }>;
    const requestBody = webhooks[name]?.post?.requestBody;
    if (requestBody === undefined) throw new Error(`GitHub's REST description has no webhook "${name}".`);
    const validate = this.validator(`webhook ${name}`, () => jsonSchemaOf(this.resolve<Json>(requestBody)));
    if (!validate || validate(payload)) return [];
    return formatErrors("payload", validate.errors);
  }

  private validator(key: string, schemaOf: () => unknown): ValidateFunction | null {
    if (!this.validators.has(key)) {
      const schema = schemaOf();
      this.validators.set(key, schema === undefined ? null : this.ajv.compile(this.bundle(schema)));
    }
    return this.validators.get(key) ?? null;
  }
}

function jsonSchemaOf(container: Json | undefined): unknown {
  const content = container?.content as Record<string, Json> | undefined;
  if (!content) return undefined;
  const jsonType = Object.keys(content).find((type) => /json/.test(type));
  return jsonType === undefined ? undefined : content[jsonType]?.schema;
}

function matchSegments(segments: Segment[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  let index = 0;
  for (let s = 0; s < segments.length; s += 1) {
    const segment = segments[s];
    if (segment === undefined) return undefined;
    if ("literal" in segment) {
      if (parts[index] !== segment.literal) return undefined;
      index += 1;
      continue;
    }
    const remainingLiterals = segments.length - s - 1;
    const take = segment.multi ? parts.length - index - remainingLiterals : 1;
    const captured = parts.slice(index, index + take);
    if (take < 1 || captured.length !== take || captured.some((part) => part === "")) return undefined;
    try {
      params[segment.param] = captured.map((part) => decodeURIComponent(part)).join("/");
    } catch (error) {
      if (error instanceof URIError) return undefined;
      throw error;
    }
    index += take;
  }
  return index === parts.length ? params : undefined;
}

function checkScalar(parameter: Parameter, value: string): string | undefined {
  const schema = parameter.schema ?? {};
  const type = schema.type;
  if (type === "integer" && !/^-?\d+$/.test(value)) return `must be an integer, got "${value}"`;
  if (type === "number" && Number.isNaN(Number(value))) return `must be a number, got "${value}"`;
  if (type === "boolean" && value !== "true" && value !== "false") return `must be true or false, got "${value}"`;
  const allowed = schema.enum;
  if (Array.isArray(allowed) && !allowed.map(String).includes(value))
    return `must be one of ${allowed.map(String).join(", ")}, got "${value}"`;
  return undefined;
}
