import { ifNoneMatchHits } from '../src/http/conditional.js';

test.each([
  [undefined, '"a"', false],
  ['', '"a"', false],
  ['"a"', '"a"', true],
  ['"b"', '"a"', false],
  ['W/"a"', '"a"', true],
  ['"x", "a"', '"a"', true],
  ['"x",W/"a"', '"a"', true],
  ['*', '"a"', true],
  ['"a', '"a"', false],
])('If-None-Match %p against %p -> %p', (header, etag, hit) => {
  expect(ifNoneMatchHits(header, etag)).toBe(hit);
});
