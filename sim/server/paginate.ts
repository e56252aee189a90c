/** GitHub's page-number pagination: `per_page` (default 30, max 100), `page`, and a `Link` header. */
import type { RouteContext } from "./route.js";

export interface Page<T> {
  items: T[];
  headers: Record<string, string>;
}

export function paginate<T>(context: Pick<RouteContext, "query" | "url">, all: readonly T[]): Page<T> {
  const perPage = Math.min(100, Math.max(1, Number(context.query.get("per_page") ?? 30) || 30));
  const page = Math.max(1, Number(context.query.get("page") ?? 1) || 1);
  const last = Math.max(1, Math.ceil(all.length / perPage));
  const items = all.slice((page - 1) * perPage, page * perPage);
  const link = (target: number, rel: string): string => {
    const url = new URL(context.url);
    url.searchParams.set("per_page", String(perPage));
    url.searchParams.set("page", String(target));
    return `<${url.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page > 1) links.push(link(page - 1, "prev"));
  if (page < last) links.push(link(page + 1, "next"), link(last, "last"));
  if (page > 1) links.push(link(1, "first"));
  return { items, headers: links.length > 0 ? { link: links.join(", ") } : {} };
}
