import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import type { Principal } from '../../../../libs/auth/src';
import { DomainError, parseOrThrow, schemas } from '../../../../libs/domain/src';
import { AuthGuard, CurrentUser } from '../common/auth.guard';
import { RoomsService } from './rooms.service';

@Controller('rooms')
@UseGuards(AuthGuard)
export class RoomsController {
  constructor(private readonly rooms: RoomsService) {}

  @Post()
  @HttpCode(201)
  async create(@Body() body: unknown, @CurrentUser() user: Principal) {
    const { name, visibility } = parseOrThrow(schemas.createRoom, body);
    return { room: await this.rooms.create(name, user, visibility) };
  }

  @Get()
  mine(@Query() query: unknown, @CurrentUser() user: Principal) {
    return this.rooms.mine(user, parseOrThrow(schemas.roomsQuery, { ...(query as object) }));
  }

  @Get(':roomId')
  async get(@Param('roomId') roomId: string, @CurrentUser() user: Principal) {
    return { room: await this.rooms.get(roomId, user) };
  }

  @Get(':roomId/members')
  members(@Param('roomId') roomId: string, @CurrentUser() user: Principal) {
    return this.rooms.members(roomId, user);
  }

  @Post(':roomId/connection')
  @HttpCode(200)
  connection(@Param('roomId') roomId: string, @Body() body: unknown, @CurrentUser() user: Principal) {
    if (body !== undefined && body !== null && (typeof body !== 'object' || Object.keys(body).length > 0)) {
      throw new DomainError('invalid', 'this request takes no body');
    }
    return this.rooms.connect(roomId, user);
  }

  @Get(':roomId/events')
  history(@Param('roomId') roomId: string, @Query() query: unknown, @CurrentUser() user: Principal) {
    return this.rooms.history(roomId, user, parseOrThrow(schemas.historyQuery, { ...(query as object) }));
  }
}
