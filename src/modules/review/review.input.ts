import { IsInt, IsString, Length, Matches, Max, Min, ValidateIf, ValidateNested } from 'class-validator';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';

const NOT_BLANK = /\S/;

@InputType()
export class CreateReviewInput {
  @Field(() => ID)
  userId!: string;

  @Field(() => ID)
  productId!: string;

  @Field(() => Int)
  @IsInt()
  @Min(1)
  @Max(5)
  rating!: number;

  @Field(() => String)
  @Length(1, 2000)
  @Matches(NOT_BLANK, { message: 'body must not be blank' })
  body!: string;
}

/** Only the fields given are changed; none of them may be null. The user and product stay. */
@InputType()
export class UpdateReviewInput {
  @Field(() => Int, { nullable: true })
  @ValidateIf((_, value) => value !== undefined)
  @IsInt({ message: 'rating must be a whole number, not null' })
  @Min(1)
  @Max(5)
  rating?: number;

  @Field(() => String, { nullable: true })
  @ValidateIf((_, value) => value !== undefined)
  @IsString({ message: 'body must be a string, not null' })
  @Length(1, 2000)
  @Matches(NOT_BLANK, { message: 'body must not be blank' })
  body?: string;
}

/** An args class, so the arguments appear in the contract's order (id, input, expectedVersion). */
@ArgsType()
export class UpdateReviewArgs {
  @Field(() => ID)
  id!: string;

  @Field(() => UpdateReviewInput)
  @ValidateNested()
  input!: UpdateReviewInput;

  @Field(() => Int, { nullable: true, description: 'Fail with CONFLICT unless the review is still at this version.' })
  expectedVersion?: number | null;
}
