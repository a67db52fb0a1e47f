build/release/obj/src/cli/main.o: src/cli/main.c include/fstore.h
include/fstore.h:
