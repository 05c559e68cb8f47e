/*
 * Capture what code under test prints on stderr, so tests can assert that
 * a rejection prints exactly one line naming the culprit. Include after
 * <cmocka.h>.
 */
#ifndef KVMINI_TEST_ERR_CAPTURE_H
#define KVMINI_TEST_ERR_CAPTURE_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int saved_stderr = -1;
static FILE *capture;

static void err_begin(void)
{
	fflush(stderr);
	capture = tmpfile();
	assert_non_null(capture);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fileno(capture), STDERR_FILENO) >= 0);
}

/* Stop capturing; return the text (static buffer). */
static const char *err_end(void)
{
	static char text[4096];
	size_t n;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	rewind(capture);
	n = fread(text, 1, sizeof(text) - 1, capture);
	text[n] = 0;
	fclose(capture);
	return text;
}

static inline unsigned int count_lines(const char *s)
{
	unsigned int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

#endif
