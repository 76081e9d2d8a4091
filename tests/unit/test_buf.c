/* test_buf.c — capped buffer: cap enforcement, append, consume, printf, steal. */
#include "autoconf.h"
#include "buf.h"
#include "tap.h"
#include <stdlib.h>
#include <string.h>

static void test_init(void)
{
	struct buf b;

	buf_init(&b, 16);
	ok(b.data == NULL && b.len == 0 && b.cap == 16, "init allocates nothing");
	is_str(buf_str(&b), "", "empty buffer reads as \"\"");
	buf_free(&b);
	buf_free(&b);
	ok(b.data == NULL, "free twice is harmless");
}

static void test_cap(void)
{
	struct buf b;

	buf_init(&b, 8);
	is_int(buf_append(&b, "12345", 5), 0, "append under cap");
	is_int(buf_append(&b, "6789", 4), -1, "append over cap fails");
	is_mem(b.data, b.len, "12345", 5, "failed append leaves the buffer unchanged");
	is_int(buf_append(&b, "678", 3), 0, "append up to exactly cap");
	is_str(buf_str(&b), "12345678", "contents at cap");
	is_int(buf_append(&b, "x", 1), -1, "one more byte fails");
	is_int(buf_append(&b, "", 0), 0, "empty append at cap succeeds");
	is_int(buf_puts(&b, "y"), -1, "puts over cap fails");
	is_int(buf_printf(&b, "%d", 1), -1, "printf over cap fails");
	is_str(buf_str(&b), "12345678", "still unchanged");
	is_int(buf_append(&b, "x", (size_t)-1), -1, "huge length rejected without overflow");
	buf_free(&b);

	buf_init(&b, 0);
	is_int(buf_append(&b, "", 0), 0, "cap 0: empty append succeeds");
	is_int(buf_append(&b, "a", 1), -1, "cap 0: any byte fails");
	is_str(buf_str(&b), "", "cap 0: stays empty");
	buf_free(&b);
}

static void test_append_consume(void)
{
	struct buf b;
	size_t i, alloc;
	int all = 1;

	buf_init(&b, BUF_CAP_DEFAULT);
	is_int(buf_append(&b, "a\0b", 3), 0, "append binary");
	ok(b.len == 3 && memcmp(b.data, "a\0b", 3) == 0 && b.data[3] == '\0',
	   "binary kept, NUL after the end");
	buf_reset(&b);
	for (i = 0; i < 100000; i++) {
		char c = (char)('a' + i % 26);
		all &= buf_append(&b, &c, 1) == 0;
	}
	for (i = 0; i < 100000; i++)
		all &= b.data[i] == (char)('a' + i % 26);
	ok(all && b.len == 100000 && b.data[b.len] == '\0', "100000 one-byte appends grow correctly");
	ok(b.alloc <= b.cap + 1, "allocation never exceeds cap + 1");

	buf_consume(&b, 26);
	ok(b.len == 100000 - 26 && b.data[0] == 'a' && b.data[25] == 'z', "consume drops the front");
	buf_consume(&b, 0);
	is_int(b.len, 100000 - 26, "consume 0 is a no-op");
	buf_consume(&b, b.len);
	ok(b.len == 0 && strcmp(buf_str(&b), "") == 0, "consume everything empties");

	is_int(buf_puts(&b, "hello world"), 0, "puts");
	buf_consume(&b, 6);
	is_str(buf_str(&b), "world", "consume keeps a C string");

	alloc = b.alloc;
	buf_reset(&b);
	ok(b.len == 0 && b.alloc == alloc && b.data && b.data[0] == '\0',
	   "reset empties but keeps memory");
	buf_free(&b);
	ok(b.data == NULL && b.len == 0, "free releases");
	buf_init(&b, 4);
	is_int(buf_puts(&b, "abcd"), 0, "reusable after free and init");
	buf_free(&b);
}

static void test_printf(void)
{
	struct buf b;
	char big[1000];

	buf_init(&b, 2048);
	is_int(buf_printf(&b, "%s=%d", "n", 42), 0, "printf");
	is_int(buf_printf(&b, ";%05.1f", 2.5), 0, "printf appends");
	is_str(buf_str(&b), "n=42;002.5", "printf contents");
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	is_int(buf_printf(&b, "[%s]", big), 0, "printf larger than the first allocation");
	ok(b.len == 10 + 1001 && b.data[10] == '[' && b.data[b.len - 1] == ']' &&
	   b.data[b.len] == '\0', "long printf contents");
	is_int(buf_printf(&b, "%s%s", big, big), -1, "printf past cap fails");
	is_int(b.len, 1011, "failed printf leaves the buffer unchanged");
	is_int(buf_printf(&b, "%s", ""), 0, "empty printf");
	ok(b.data[b.len] == '\0' && b.len == 1011, "a failed printf into spare room leaves it terminated");
	buf_free(&b);

	/* exactly filling the room, then one over: written in place, then grown */
	buf_init(&b, 4096);
	buf_puts(&b, "x");   /* 256 allocated */
	memset(big, 'y', 254);
	big[254] = '\0';
	is_int(buf_printf(&b, "%s", big), 0, "printf that just fits the room");
	ok(b.len == 255 && b.alloc == 256 && b.data[255] == '\0', "written in place");
	is_int(buf_printf(&b, "%d", 7), 0, "printf one past the room");
	ok(b.len == 256 && b.data[255] == '7' && b.data[256] == '\0', "grown and written");
	buf_free(&b);
}

static void test_room(void)
{
	struct buf b;
	size_t room;

	buf_init(&b, 10);
	char *at = buf_room(&b, 4, &room);
	ok(at && room >= 4 && room <= 10, "room for 4");
	memcpy(at, "abcd", 4);
	buf_added(&b, 4);
	is_str(buf_str(&b), "abcd", "added");
	at = buf_room(&b, 100, &room);
	ok(at && room == 6, "room is bounded by the cap");
	memcpy(at, "efghij", 6);
	buf_added(&b, 6);
	is_int(b.len, 10, "at the cap");
	ok(buf_room(&b, 1, &room) == NULL && room == 0, "no room at the cap");
	buf_free(&b);
}

static void test_steal(void)
{
	struct buf b;
	char *s;

	buf_init(&b, 64);
	buf_puts(&b, "secret");
	s = buf_steal(&b);
	is_str(s, "secret", "steal returns the data");
	ok(b.data == NULL && b.len == 0, "buffer empty after steal");
	is_str(buf_str(&b), "", "reads as \"\" after steal");
	free(s);
	s = buf_steal(&b);
	ok(s != NULL && s[0] == '\0', "steal from an empty buffer gives \"\"");
	free(s);
	is_int(buf_puts(&b, "again"), 0, "usable after steal");
	is_str(buf_str(&b), "again", "contents after reuse");
	buf_free(&b);
}

int main(void)
{
	test_init();
	test_cap();
	test_append_consume();
	test_printf();
	test_room();
	test_steal();
	return done_testing();
}
