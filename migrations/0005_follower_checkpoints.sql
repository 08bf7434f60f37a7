CREATE TABLE `change_follower_checkpoints` (
	`name` varchar(64) NOT NULL,
	`gtid` varchar(1024) NOT NULL,
	`binlog_file` varchar(255) NOT NULL,
	`binlog_position` bigint unsigned NOT NULL,
	`instance` varchar(128) NOT NULL,
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	CONSTRAINT `change_follower_checkpoints_name` PRIMARY KEY(`name`)
);
