/*
 * The words of the bench's synthetic events, shared by bench/curvegen.c and
 * bench/evgen.c so that the cost curves and the side-by-side bench draw their
 * event types, roles and the rest from the same vocabulary.
 */
#ifndef BENCH_VOCAB_H
#define BENCH_VOCAB_H

static const char *const event_types[] = {
	"user.login", "user.logout", "user.signup", "user.password_reset", "user.mfa_enabled",
	"order.created", "order.paid", "order.shipped", "order.refunded", "order.cancelled",
	"invoice.issued", "invoice.voided", "payment.failed", "payment.captured",
	"api_key.created", "api_key.revoked", "role.granted", "role.revoked",
	"document.viewed", "document.exported"
};
static const char *const roles[] = {"admin", "member", "viewer", "service"};
static const char *const rtypes[] = {"invoice", "order", "document", "account", "project"};
static const char *const currencies[] = {"EUR", "USD", "GBP", "JPY"};
static const char *const statuses[] = {"ok", "ok", "ok", "ok", "denied", "error"};
static const char *const channels[] = {"web", "mobile", "api", "batch"};
static const char *const regions[] = {"eu-west", "us-east", "ap-south"};

#endif
