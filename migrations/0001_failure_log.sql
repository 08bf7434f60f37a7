CREATE TABLE `write_through_events` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`failure_id` bigint unsigned NOT NULL,
	`kind` varchar(16) NOT NULL,
	`occurred_at` datetime(3) NOT NULL,
	`instance` varchar(64) NOT NULL,
	CONSTRAINT `write_through_events_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `write_through_failures` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`entity` varchar(32) NOT NULL,
	`entity_id` bigint unsigned NOT NULL,
	`operation` varchar(16) NOT NULL,
	`version` bigint unsigned NOT NULL,
	`error` varchar(1000) NOT NULL,
	`instance` varchar(64) NOT NULL,
	`occurred_at` datetime(3) NOT NULL,
	`repaired_at` datetime(3),
	`repaired_by` varchar(64),
	`repair_attempts` int unsigned NOT NULL DEFAULT 0,
	`next_attempt_at` datetime(3) NOT NULL,
	`last_repair_error` varchar(1000),
	CONSTRAINT `write_through_failures_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
ALTER TABLE `write_through_events` ADD CONSTRAINT `write_through_events_failure_id_write_through_failures_id_fk` FOREIGN KEY (`failure_id`) REFERENCES `write_through_failures`(`id`) ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX `write_through_failures_due_idx` ON `write_through_failures` (`repaired_at`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `write_through_failures_key_idx` ON `write_through_failures` (`entity`,`entity_id`);