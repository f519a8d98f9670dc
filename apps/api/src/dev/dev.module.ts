import { Module } from '@nestjs/common';
import { DevTokensController } from './dev-tokens.controller';

/** Development sign-in: tokens signed with the development secret. */
@Module({ controllers: [DevTokensController] })
export class DevModule {}
