// Places one order through the packed client from CommonJS: require() of an ES module (Node >= 20.19).
const { withIdempotency } = require('@idempotency-tokens/client');

const idempotentFetch = withIdempotency({
  baseUrl: process.env.BASE_URL,
  operations: { 'POST /orders': { scope: 'orders.create', replay: true } },
});
idempotentFetch(`${process.env.BASE_URL}/orders`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: 'Bearer carol' },
  body: JSON.stringify({ item: 'from cjs' }),
}).then(async (response) =>
  console.log(JSON.stringify({ status: response.status, body: await response.json() })),
);
