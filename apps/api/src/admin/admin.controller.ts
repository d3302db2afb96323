import { Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { AdminGuard, AuthGuard } from '../common/auth.guard';
import { AdminService } from './admin.service';

/** Every route here needs the admin role (made only by the CLI's create-admin). */
@Controller('admin')
@UseGuards(AuthGuard, AdminGuard)
export class AdminController {
  constructor(private readonly admin: AdminService) {}

  @Get('gateways')
  async gateways() {
    return { gateways: await this.admin.listGateways() };
  }

  @Post('gateways/:id/drain')
  @HttpCode(202)
  async drain(@Param('id') id: string) {
    return { gateway: await this.admin.drainGateway(id) };
  }

  @Get('rooms/:roomId')
  room(@Param('roomId') roomId: string) {
    return this.admin.room(roomId);
  }
}
