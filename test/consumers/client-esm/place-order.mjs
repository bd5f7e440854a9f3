// Places one order through the packed client, as an ES module; prints the answer as JSON.
import { withIdempotency } from '@idempotency-tokens/client';

const idempotentFetch = withIdempotency({
  baseUrl: process.env.BASE_URL,
  operations: { 'POST /orders': { scope: 'orders.create', replay: true } },
});
const response = await idempotentFetch(`${process.env.BASE_URL}/orders`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: 'Bearer carol' },
  body: JSON.stringify({ item: 'from esm' }),
});
console.log(JSON.stringify({ status: response.status, body: await response.json() }));
