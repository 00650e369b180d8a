/** A deliberate difference from the documents Elastic's JumpCloud integration (1.22.0) produces. */
export interface DeliberateDifference {
  /** Field (or field family) concerned. */
  readonly field: string;
  readonly upstream: string;
  readonly ours: string;
  readonly why: string;
}

/** Every deliberate difference, in one place: the golden test and the README list exactly these. */
export const DELIBERATE_DIFFERENCES: readonly DeliberateDifference[] = [
  {
    field: "data_stream.*, event.dataset",
    upstream: "set by Elastic Agent / Fleet before the pipeline, so absent from pipeline test output",
    ours: "set on every document (`logs`, `jumpcloud.events`, the namespace)",
    why: "we replace the agent, so we add what it adds; dashboards filter on event.dataset",
  },
  {
    field: "tags",
    upstream: "pipeline tests carry only the preserve_* tags",
    ours: "preserve_* tags, then the configured tags (default `forwarded`), as Fleet sends them",
    why: "same as a document shipped by Elastic Agent",
  },
  {
    field: "related.ip",
    upstream: "never contains client.ip (the pipeline appends client.ip to client.ip instead)",
    ours: "contains client.ip, source.ip and valid jumpcloud_protect_device IPs (top level and under auth_context)",
    why: "JumpCloud puts nearly every address in client_ip; related.ip is what investigations pivot on",
  },
  {
    field: "`jumpcloud.event.useragent` as a string",
    upstream:
      "copied nowhere; kept as a string where the template maps an object, so the document is rejected",
    ours: "parsed with ua-parser-js into user_agent.* (+ user_agent.original) and removed from jumpcloud.event",
    why: "no event is lost to a mapping conflict; a raw `user_agent` string is parsed the same way",
  },
  {
    field: "@timestamp without a usable event timestamp",
    upstream: "the agent's read time, silently",
    ours: "the collection time, with a note in error.message",
    why: "a data stream rejects documents without @timestamp, and the substitution must be visible",
  },
  {
    field: "pipeline errors: `json`, duplicate keys, unexpected errors",
    upstream:
      "a non-object JSON value stays in a top-level `json` field; duplicate JSON keys fail the event; any processor exception is a pipeline error",
    ours: "no `json` field (event.original has the text); the last duplicate key wins; a mapper bug reads `unexpected mapper error: …`",
    why: "a top-level `json` field of any type would clash across documents; JSON.parse cannot see duplicates; bugs must be visible",
  },
  {
    field: "related.* from list values",
    upstream: "a list in source.ip, client.ip or source.user.name is rendered by Mustache as one string",
    ours: "each element is appended",
    why: "a rendered list is not an IP address, so the upstream document would be rejected",
  },
  {
    field: "event.original of a parsed event",
    upstream: "the agent re-serialises the event with keys sorted",
    ours: "the event serialised in the order the API sent it (or the input text verbatim)",
    why: "no reordering work; the content is identical",
  },
];
