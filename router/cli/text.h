/* text.h — terminal-safe output for the hilo CLI: debtors' messages and names are untrusted, so
 * control characters (an escape sequence could repaint the operator's terminal) and invalid
 * UTF-8 are replaced before printing; columns are padded by the columns a terminal gives
 * each character (hilo_textnorm_width: an accent's combining mark none, a CJK character two),
 * not by bytes.
 * Pure helpers; returned strings are malloc'd and owned by the caller. */
#ifndef HILO_TEXT_H
#define HILO_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A printable copy of s[0..len): line breaks and tabs become spaces, other C0/C1 controls and
 * invalid UTF-8 bytes become '?'. max_chars > 0 truncates to that many characters, the last
 * one being "…". */
char *hilo_text_printable(const char *s, size_t len, size_t max_chars);

/* The terminal columns of the printable string s. */
size_t hilo_text_width(const char *s);

/* Prints s (printable), then spaces up to `width` columns. */
void hilo_text_pad(FILE *f, const char *s, size_t width);

#endif
