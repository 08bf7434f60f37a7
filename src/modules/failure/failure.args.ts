import { IsOptional, IsString } from 'class-validator';
import { ArgsType, Field, ID } from 'type-graphql';
import { CACHED_NAMES } from '../../entities';

/** "'user', 'product' or 'order'": what `entity` may be (every registered entity and association list), for the schema's descriptions. */
export const FAILURE_ENTITIES_TEXT = CACHED_NAMES.map((name) => `'${name}'`)
  .join(', ')
  .replace(/, ([^,]*)$/, ' or $1');

// type-graphql validates these args (forbidUnknownValues) each time the field
// resolves, i.e. for every event delivered: a class with no class-validator
// decorators counts as an "unknown value" and fails every event. So each field
// says what it accepts, like every other args and input class.
@ArgsType()
export class WriteThroughFailuresArgs {
  @Field(() => String, { nullable: true, description: `Only failures of this entity: ${FAILURE_ENTITIES_TEXT}.` })
  @IsOptional()
  @IsString()
  entity?: string | null;

  @Field(() => ID, { nullable: true, description: 'Replay the failures after this event id first.' })
  @IsOptional()
  @IsString()
  after?: string | null;
}
