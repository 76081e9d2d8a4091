/* rtools.h — the Responses API's tools over chat function tools, for the
 * translated routes (responses.c): function tools as they are; custom
 * (free-form) tools as a function with one string parameter "input"; the
 * local_shell tool as a function "local_shell" with one parameter "action"
 * (the documented exec action); the function and custom tools of a
 * namespace as functions named "<namespace>__<name>" (over 64 characters:
 * its first 55, "_" and 8 hex digits of its SHA-256). The calls come back
 * as the items of their own kind (function_call with its namespace,
 * custom_tool_call, local_shell_call), and those items in a request's input
 * go upstream as the chat tool calls they stand for. Built-in tools the
 * upstream does not have (web_search, file_search, code_interpreter, ...)
 * are refused. The chat names that stand for something else than a plain
 * function are kept in a "kinds" object: { "<chat name>": { "type":
 * "custom" | "local_shell" | "function", "name": ..., "namespace": ... } }. */
#ifndef LLMGATE_RTOOLS_H
#define LLMGATE_RTOOLS_H
#include <cjson/cJSON.h>
#include <stddef.h>

enum rtools_kind { RTOOLS_FUNCTION, RTOOLS_CUSTOM, RTOOLS_SHELL };

/* A request's tools (an array) → chat tools appended to out_tools; the
 * names that are not plain functions added to *kinds (created when NULL).
 * 0, or -1 with err (a built-in or unknown tool type, a tool without a
 * name, a namespace without tools). */
int rtools_to_oai(const cJSON *tools, cJSON *out_tools, cJSON **kinds, char *err, size_t errlen);

/* A tool_choice naming a custom tool ({"type":"custom","name":...}) → the
 * chat tool_choice for its function (new object), else NULL. */
cJSON *rtools_choice_to_oai(const cJSON *choice);

/* Is it a call item rtools_call_to_oai takes (function_call,
 * custom_tool_call, local_shell_call)? Is it one of the outputs
 * (function_call_output, custom_tool_call_output, local_shell_call_output)? */
int rtools_is_call(const char *type);
int rtools_is_output(const char *type);

/* A call item of the input → a chat tool call (new object: id, type,
 * function name and arguments), its call id in *call_id (borrowed from
 * it), or NULL with err (a member missing or of the wrong type). */
cJSON *rtools_call_to_oai(const cJSON *it, const char **call_id, char *err, size_t errlen);

/* The call id an output item answers (call_id; a local_shell_call_output's
 * id when it has none), or NULL. */
const char *rtools_output_call_id(const cJSON *it);

/* What kind of tool a chat call's name stands for; *name and *ns (may be
 * NULL) get the Responses name and namespace (borrowed; *ns NULL when there
 * is none). */
enum rtools_kind rtools_kind_of(const cJSON *kinds, const char *chat_name, const char **name, const char **ns);

/* A chat tool call → the output item of its kind (new object): args the
 * chat arguments (JSON text, maybe incomplete while in progress). */
cJSON *rtools_item(const cJSON *kinds, const char *id, const char *call_id, const char *chat_name, const char *args,
		   const char *status);

/* A custom tool's input from the chat arguments {"input": "..."} (new
 * string): the arguments as they are when they are not that. */
char *rtools_custom_input(const char *args);
#endif
