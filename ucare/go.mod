module github.com/satchel-project/satchel/ucare

go 1.23
