module statusstack-webhooks/bench/go_sender

go 1.19
