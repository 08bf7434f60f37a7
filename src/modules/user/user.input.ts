import { IsEmail, IsOptional, IsString, Length, Matches, MaxLength, ValidateIf, ValidateNested } from 'class-validator';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';

const NOT_BLANK = /\S/;

@InputType()
export class CreateUserInput {
  @Field(() => String)
  @Length(1, 100)
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  name!: string;

  @Field(() => String)
  @MaxLength(254)
  @IsEmail({}, { message: 'email must be a valid email address' })
  email!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  bio?: string | null;
}

/** Only the fields given are changed; `bio: null` clears the bio. */
@InputType()
export class UpdateUserInput {
  // null is not "unchanged" but "set to null", which a name cannot be.
  @Field(() => String, { nullable: true })
  @ValidateIf((_, value) => value !== undefined)
  @IsString({ message: 'name must be a string, not null' })
  @Length(1, 100)
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  name?: string;

  @Field(() => String, { nullable: true })
  @ValidateIf((_, value) => value !== undefined)
  @IsString({ message: 'email must be a string, not null' })
  @MaxLength(254)
  @IsEmail({}, { message: 'email must be a valid email address' })
  email?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  bio?: string | null;
}

/** An args class, so the arguments appear in the contract's order (id, input, expectedVersion). */
@ArgsType()
export class UpdateUserArgs {
  @Field(() => ID)
  id!: string;

  @Field(() => UpdateUserInput)
  @ValidateNested()
  input!: UpdateUserInput;

  @Field(() => Int, { nullable: true, description: 'Fail with CONFLICT unless the user is still at this version.' })
  expectedVersion?: number | null;
}
