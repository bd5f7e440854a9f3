import { describe, expect, it } from '@jest/globals';
import { decodeOutcome, encodeOutcome, type StoredResponse } from './stored-response.js';

const answers: [string, StoredResponse][] = [
  [
    'a JSON answer with headers',
    {
      status: 201,
      headers: { 'content-type': 'application/json; charset=utf-8', location: '/orders/1' },
      body: '{"id":"1","note":"two\\n\\nlines: yes"}',
    },
  ],
  ['an empty body', { status: 204, headers: { 'x-empty': '' }, body: '' }],
  ['a body and no headers', { status: 200, headers: {}, body: '\n\nstarts with blank lines' }],
  ['no body (not replayable)', { status: 201, headers: { location: '/a: b' } }],
  ['no body and no headers', { status: 500, headers: {} }],
  [
    'bytes',
    { status: 200, headers: { 'content-type': 'image/png' }, body: 'iVBORw0KGgo=', base64: true },
  ],
  [
    'bytes sent as JSON',
    {
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: '/w==',
      base64: true,
    },
  ],
  [
    'another JSON content type',
    { status: 200, headers: { 'content-type': 'application/json' }, body: '{}' },
  ],
];

describe('stored answers', () => {
  it.each(answers)('keeps %s as it was', (_name, answer) => {
    expect(decodeOutcome(encodeOutcome(answer))).toEqual(answer);
  });

  it('is the shape of an HTTP answer, with no JSON escaping of the body', () => {
    expect(encodeOutcome(answers[0][1])).toBe(
      '201 json\nlocation: /orders/1\n\n{"id":"1","note":"two\\n\\nlines: yes"}',
    );
  });

  it('keeps other content types as header lines', () => {
    expect(encodeOutcome(answers.at(-1)![1])).toBe('200\ncontent-type: application/json\n\n{}');
  });

  it('still reads the usual JSON content type as a header line, as recorded before the flag', () => {
    expect(
      decodeOutcome(
        '201\ncontent-type: application/json; charset=utf-8\nlocation: /orders/1\n\n{}',
      ),
    ).toEqual({
      status: 201,
      headers: { 'content-type': 'application/json; charset=utf-8', location: '/orders/1' },
      body: '{}',
    });
  });

  it('still reads the JSON that earlier versions recorded', () => {
    for (const [, answer] of answers) expect(decodeOutcome(JSON.stringify(answer))).toEqual(answer);
  });
});
