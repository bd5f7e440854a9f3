/** What a handler needs of a response to set a header: Express' and Fastify's both have `header()`. */
export interface HeaderSetter {
  header(name: string, value: string): unknown;
}
