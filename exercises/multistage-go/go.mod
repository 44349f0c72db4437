module example.com/multistage-go

go 1.22
