/* test_draw.c — the drawing trigger's pieces: which messages trigger and
 * the prompt taken from them; the picture read from OpenAI's (url,
 * b64_json) and SiliconFlow's (images[].url) image answers; when drawing
 * is wanted (on, with a model, the last user message). */
#include "autoconf.h"
#include "draw.h"
#include "log.h"
#include "tap.h"
#include <stdlib.h>
#include <string.h>

static void prompt_is(const char *in, const char *want)
{
	char *p = draw_prompt(in);
	if (want)
		is_str(p, want, in);
	else
		ok(!p, "no trigger: %s", in);
	free(p);
}

static void url_is(const char *body, const char *want)
{
	char *u = draw_image_url(body, strlen(body));
	if (want)
		is_str(u, want, body);
	else
		ok(!u, "no picture: %s", body);
	free(u);
}

int main(void)
{
	log_init("test", LOG_ERR);
	prompt_is("\xe7\x94\xbb\xe4\xb8\x80\xe5\x8f\xaa\xe7\x8c\xab", "\xe4\xb8\x80\xe5\x8f\xaa\xe7\x8c\xab");   /* 画一只猫 */
	prompt_is("  \xe7\x94\xbb\xef\xbc\x9a \xe5\xb1\xb1 ", "\xe5\xb1\xb1");   /* "  画： 山 " */
	prompt_is("/draw a cat", "a cat");
	prompt_is("/draw : a cat\n", "a cat");
	prompt_is("/draw:a cat", NULL);
	prompt_is("/draw", "");
	prompt_is("\xe7\x94\xbb", "");
	prompt_is("/drawing a cat", NULL);
	prompt_is("please /draw a cat", NULL);
	prompt_is("hello", NULL);
	url_is("{\"images\":[{\"url\":\"https://x/0.png\"}],\"seed\":1}", "https://x/0.png");
	url_is("{\"created\":1,\"data\":[{\"url\":\"https://y/1.png\"}]}", "https://y/1.png");
	url_is("{\"created\":1,\"data\":[{\"b64_json\":\"iVBO\"}]}", "data:image/png;base64,iVBO");
	url_is("{\"data\":[]}", NULL);
	url_is("{\"images\":[{\"url\":\"\"}]}", NULL);
	url_is("not json", NULL);

	struct config c;
	memset(&c, 0, sizeof(c));
	cJSON *req = cJSON_Parse("{\"messages\":[{\"role\":\"user\",\"content\":\"/draw x\"},"
				 "{\"role\":\"assistant\",\"content\":\"ok\"},"
				 "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"\xe7\x94\xbb y\"}]}]}");
	ok(!draw_wanted(&c, req), "off: not wanted");
	c.drawing_enabled = 1;
	c.drawing_model = "";
	ok(!draw_wanted(&c, req), "on without a model: not wanted");
	c.drawing_model = "Kwai-Kolors/Kolors";
	ok(draw_wanted(&c, req), "on: the last user message (a text part) triggers");
	cJSON_Delete(req);
	req = cJSON_Parse("{\"messages\":[{\"role\":\"user\",\"content\":\"/draw x\"},{\"role\":\"user\",\"content\":\"hi\"}]}");
	ok(!draw_wanted(&c, req), "only the last user message counts");
	cJSON_Delete(req);
	return done_testing();
}
