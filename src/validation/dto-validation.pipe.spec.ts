import { describe, expect, it } from '@jest/globals';
import { type ArgumentMetadata, HttpException, ValidationPipe } from '@nestjs/common';
import { ProblemException } from '@idempotency-tokens/nestjs';
import { IsString, ValidateNested } from 'class-validator';
import { CreateOrderDto } from '../orders/dto/create-order.dto.js';
import { DtoValidationPipe } from './dto-validation.pipe.js';

const body: ArgumentMetadata = { type: 'body', metatype: CreateOrderDto };

/** What a pipe makes of a body: the value the handler gets, or the listed violations. */
async function outcomeOf(
  pipe: { transform(value: unknown, metadata: ArgumentMetadata): unknown },
  value: unknown,
) {
  try {
    return { passed: await pipe.transform(value, body) };
  } catch (error) {
    if (error instanceof ProblemException)
      return { errors: error.problem.errors, detail: error.problem.detail };
    const message = (error as HttpException).getResponse() as { message: string[] };
    return { errors: message.message };
  }
}

describe('DtoValidationPipe', () => {
  const pipe = new DtoValidationPipe();
  const reference = new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true });

  it.each([
    undefined,
    null,
    5,
    'x',
    true,
    [],
    [1, 2],
    [{ item: 'a', quantity: 1 }],
    {},
    { item: 'a', quantity: 1 },
    { item: 'a', quantity: 1, x: 1 },
    { x: 1, item: '', quantity: 0, y: 2 },
    { 10: 1, 2: 1, b: 1, a: 1, item: 'a', quantity: 1 },
    { constructor: 1, prototype: 2, item: 'a', quantity: 1 },
    JSON.parse('{"__proto__":{"polluted":1},"item":"a","quantity":1}'),
    { item: {}, quantity: 1 },
    { item: ['a'], quantity: [1] },
    { item: 'a', quantity: '1' },
    { item: null, quantity: 1.5 },
    { item: 'a'.repeat(101), quantity: 1001 },
    { item: 'a', quantity: 1, x: { constructor: 1, deep: [{ y: 1 }] } },
  ])('answers %j as ValidationPipe does', async (value) => {
    // Each pipe gets its own copy: ValidationPipe deletes prototype keys in place.
    const copy = () => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));
    expect(await outcomeOf(pipe, copy())).toMatchObject(await outcomeOf(reference, copy()));
  });

  it('counts every unknown key but names only the first 20', async () => {
    const value: Record<string, unknown> = { quantity: 0 };
    for (let i = 0; i < 100_000; i++) value[`k${i}`] = { nested: i };
    const outcome = await outcomeOf(pipe, value);
    expect(outcome.detail).toBe(
      'The request body is not valid: see errors (the first 20 of 100003 listed).',
    );
    expect(outcome.errors).toEqual(
      Array.from({ length: 20 }, (_, i) => `property k${i} should not exist`),
    );
  });

  it('hands the handler a DTO holding the declared properties only', async () => {
    const dto = await pipe.transform({ item: 'a', quantity: 1 }, body);
    expect(dto).toBeInstanceOf(CreateOrderDto);
    expect(dto).toEqual({ item: 'a', quantity: 1 });
  });

  it('leaves values alone that are not a DTO, and custom decorators', async () => {
    const value = { anything: 1 };
    expect(await pipe.transform(value, { type: 'param', metatype: String })).toBe(value);
    expect(await pipe.transform(value, { type: 'body' })).toBe(value);
    expect(await pipe.transform(value, { type: 'custom', metatype: CreateOrderDto })).toBe(value);
  });

  it('refuses a DTO with nested validation, which it cannot check', async () => {
    class Line {
      @IsString()
      sku: string;
    }
    class Nested {
      @ValidateNested()
      line: Line;
    }
    await expect(pipe.transform({}, { type: 'body', metatype: Nested })).rejects.toThrow(
      /Nested has @ValidateNested\(\)/,
    );
  });
});
