CREATE TABLE `read_leases` (
	`instance` varchar(64) NOT NULL,
	`cursor` bigint unsigned NOT NULL,
	`expires_at` datetime(3) NOT NULL,
	CONSTRAINT `read_leases_instance` PRIMARY KEY(`instance`)
);
