CREATE TABLE `list_versions` (
	`list` varchar(32) NOT NULL,
	`owner_id` bigint unsigned NOT NULL,
	`version` bigint unsigned NOT NULL,
	CONSTRAINT `list_versions_list_owner_id_pk` PRIMARY KEY(`list`,`owner_id`)
);
