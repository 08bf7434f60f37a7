CREATE TABLE `write_intents` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`entity` varchar(32) NOT NULL,
	`entity_id` bigint unsigned NOT NULL,
	`operation` varchar(16) NOT NULL,
	`version` bigint unsigned NOT NULL,
	`written_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	CONSTRAINT `write_intents_id` PRIMARY KEY(`id`)
);
