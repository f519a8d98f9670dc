import { AppError } from '@forfait/events';

/** No token, or one that does not verify: 401 with the reason. */
export class UnauthenticatedError extends AppError {
  readonly code = 'UNAUTHENTICATED';
}

/** A valid token that may not do this: 403 with the reason. */
export class ForbiddenError extends AppError {
  readonly code = 'FORBIDDEN';
}
