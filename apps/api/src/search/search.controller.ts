import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import type { Principal } from '../../../../libs/auth/src';
import { parseOrThrow, schemas } from '../../../../libs/domain/src';
import { AuthGuard, CurrentUser } from '../common/auth.guard';
import { SearchService } from './search.service';

@Controller()
@UseGuards(AuthGuard)
export class SearchController {
  constructor(private readonly search: SearchService) {}

  @Get('rooms/:roomId/search')
  inRoom(@Param('roomId') roomId: string, @Query() query: unknown, @CurrentUser() user: Principal) {
    return this.search.inRoom(roomId, user, parseOrThrow(schemas.roomSearchQuery, { ...(query as object) }));
  }

  @Get('search')
  everywhere(@Query() query: unknown, @CurrentUser() user: Principal) {
    return this.search.everywhere(user, parseOrThrow(schemas.searchQuery, { ...(query as object) }));
  }
}
