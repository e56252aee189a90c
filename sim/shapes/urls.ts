/** Base addresses of the simulated GitHub: `api` for REST URLs, `web` for html_url. */
export interface Urls {
  /** e.g. http://127.0.0.1:3001/api/v3 */
  api: string;
  /** e.g. http://127.0.0.1:3001 */
  web: string;
}

/** GitHub's base64 node ids, e.g. "MDQ6VXNlcjE=" for `04:User1`. */
export function nodeId(type: string, id: number): string {
  return Buffer.from(`0${type.length}:${type}${id}`).toString("base64");
}

export const DOCS = "https://docs.github.com/rest";
