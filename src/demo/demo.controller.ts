import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { readFileSync } from 'node:fs';
import { Public } from '../auth/public.decorator.js';

/** Read once at start; `nest build` copies the page beside this file. */
const PAGE = readFileSync(new URL('./index.html', import.meta.url), 'utf8');

/** The demo page: an order form that fetches a token before it submits. */
@ApiExcludeController()
@Public()
@Controller()
export class DemoController {
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  page(): string {
    return PAGE;
  }
}
