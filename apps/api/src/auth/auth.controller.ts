import { Body, Controller, HttpCode, Ip, Post } from '@nestjs/common';
import { parseOrThrow, schemas } from '../../../../libs/domain/src';
import { AuthService, type AuthResult } from './auth.service';

@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('register')
  @HttpCode(201)
  register(@Body() body: unknown, @Ip() ip: string): Promise<AuthResult> {
    const { username, password } = parseOrThrow(schemas.register, body);
    return this.auth.register(username, password, ip);
  }

  @Post('login')
  @HttpCode(200)
  login(@Body() body: unknown, @Ip() ip: string): Promise<AuthResult> {
    const { username, password } = parseOrThrow(schemas.login, body);
    return this.auth.login(username, password, ip);
  }
}
