import { IsInt, IsString, Length, Matches, Max, Min, ValidateIf, ValidateNested } from 'class-validator';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';

const NOT_BLANK = /\S/;
const SKU = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Prices and stock are stored unsigned; GraphQL's Int caps them at 2^31 − 1. */
const MAX_INT = 2_147_483_647;

@InputType()
export class CreateProductInput {
  @Field(() => String)
  @Length(1, 64)
  @Matches(SKU, { message: 'sku must be letters, digits, dots, dashes or underscores, starting with a letter or digit' })
  sku!: string;

  @Field(() => String)
  @Length(1, 200)
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  name!: string;

  @Field(() => Int)
  @IsInt()
  @Min(0)
  @Max(MAX_INT)
  priceCents!: number;

  @Field(() => Int)
  @IsInt()
  @Min(0)
  @Max(MAX_INT)
  stock!: number;
}

/** Only the fields given are changed; none of them may be null. */
@InputType()
export class UpdateProductInput {
  @Field(() => String, { nullable: true })
  @ValidateIf((_, value) => value !== undefined)
  @IsString({ message: 'name must be a string, not null' })
  @Length(1, 200)
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  name?: string;

  @Field(() => Int, { nullable: true })
  @ValidateIf((_, value) => value !== undefined)
  @IsInt({ message: 'priceCents must be a whole number, not null' })
  @Min(0)
  priceCents?: number;

  @Field(() => Int, { nullable: true })
  @ValidateIf((_, value) => value !== undefined)
  @IsInt({ message: 'stock must be a whole number, not null' })
  @Min(0)
  stock?: number;
}

/** An args class, so the arguments appear in the contract's order. */
@ArgsType()
export class UpdateProductArgs {
  @Field(() => ID)
  id!: string;

  @Field(() => UpdateProductInput)
  @ValidateNested()
  input!: UpdateProductInput;

  @Field(() => Int, { nullable: true, description: 'Fail with CONFLICT unless the product is still at this version.' })
  expectedVersion?: number | null;
}
