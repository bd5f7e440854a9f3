import { OpenApi } from '../openapi/openapi-decorator.js';

/** The body of `GET /tokens`. */
export class IssuedToken {
  @OpenApi(({ ApiProperty }) =>
    ApiProperty({
      description: 'Send it in the Idempotency-Token header, once',
      pattern: '^[A-Za-z0-9._-]{22,255}$',
      example: 'PMBLUdYD1eoF.5CnEVMoU3kTYRI_yvqcMXQ.GANg8wG8uqcagIUFdDD-9A',
    }),
  )
  token: string;

  @OpenApi(({ ApiProperty }) =>
    ApiProperty({
      description: 'The scope it was issued for, null when none',
      type: String,
      nullable: true,
      example: 'orders.create',
    }),
  )
  scope: string | null;

  @OpenApi(({ ApiProperty }) =>
    ApiProperty({ description: 'When it expires unused (ISO 8601)', format: 'date-time' }),
  )
  expiresAt: string;

  @OpenApi(({ ApiProperty }) =>
    ApiProperty({ description: 'Seconds until it expires unused', type: 'integer', example: 900 }),
  )
  expiresIn: number;
}

/** The body of `GET /tokens?count=N`: N tokens, issued together. */
export class IssuedTokens {
  @OpenApi(({ ApiProperty }) =>
    ApiProperty({
      description: 'Each to be sent in the Idempotency-Token header of one request, once',
      type: [String],
      example: ['PMBLUdYD1eoF.5CnEVMoU3kTYRI_yvqcMXQ.GANg8wG8uqcagIUFdDD-9A'],
    }),
  )
  tokens: string[];

  @OpenApi(({ ApiProperty }) =>
    ApiProperty({
      description: 'The scope they were issued for, null when none',
      type: String,
      nullable: true,
      example: 'orders.create',
    }),
  )
  scope: string | null;

  @OpenApi(({ ApiProperty }) =>
    ApiProperty({ description: 'When they expire unused (ISO 8601)', format: 'date-time' }),
  )
  expiresAt: string;

  @OpenApi(({ ApiProperty }) =>
    ApiProperty({ description: 'Seconds until they expire unused', type: 'integer', example: 900 }),
  )
  expiresIn: number;
}
