/** A query Kibana (KQL) or Elasticsearch (EQL) would refuse to parse; `position` is a 0-based offset into the text. */
export class QuerySyntaxError extends Error {
  readonly position: number;
  readonly query: string;

  constructor(message: string, position: number, query: string) {
    super(`${message} at position ${position}: ${excerpt(query, position)}`);
    this.name = "QuerySyntaxError";
    this.position = position;
    this.query = query;
  }
}

/**
 * A query Kibana or Elasticsearch would accept but this evaluator does not model (nested-field
 * syntax, a value without a field, pipes, joins...). A subclass so `toThrow(QuerySyntaxError)` holds,
 * told apart with `instanceof UnsupportedQueryError`.
 */
export class UnsupportedQueryError extends QuerySyntaxError {
  constructor(message: string, position: number, query: string) {
    super(`unsupported: ${message}`, position, query);
    this.name = "UnsupportedQueryError";
  }
}

/**
 * A well-formed query that Elasticsearch would fail on for the mapping (a wildcard on an ip field,
 * a string compared with a long in EQL, an EQL comparison on a text field...).
 */
export class QueryTypeError extends Error {
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "QueryTypeError";
    this.field = field;
  }
}

function excerpt(query: string, position: number): string {
  const start = Math.max(0, position - 20);
  const end = Math.min(query.length, position + 20);
  return `${start > 0 ? "…" : ""}${query.slice(start, position)}⟨here⟩${query.slice(position, end)}${end < query.length ? "…" : ""}`;
}
