ALTER TABLE `orders` ADD CONSTRAINT `orders_quantity_fits_int` CHECK (`quantity` <= 2147483647);--> statement-breakpoint
ALTER TABLE `orders` ADD CONSTRAINT `orders_total_cents_fits_int` CHECK (`total_cents` <= 2147483647);--> statement-breakpoint
ALTER TABLE `products` ADD CONSTRAINT `products_price_cents_fits_int` CHECK (`price_cents` <= 2147483647);--> statement-breakpoint
ALTER TABLE `products` ADD CONSTRAINT `products_stock_fits_int` CHECK (`stock` <= 2147483647);