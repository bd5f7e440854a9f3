import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../auth/public.decorator.js';
import { DEMO_PAGE } from './demo-page.js';

/** The demo page: an order form that fetches a token before it submits. */
@ApiExcludeController()
@Public()
@Controller()
export class DemoController {
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  page(): string {
    return DEMO_PAGE;
  }
}
