build/release/obj/src/core/status.o: src/core/status.c include/fstore.h
include/fstore.h:
