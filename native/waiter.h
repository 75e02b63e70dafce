/*
 * The waiter of a poller: a native thread that blocks in the poller's park on
 * behalf of the JavaScript thread and calls back into it when something is
 * ready, so that an idle engine costs no CPU and a wake-up costs one
 * cross-thread call instead of a worker round trip (see tofu_waiter_start).
 */
#ifndef TOFU_WAITER_H
#define TOFU_WAITER_H

struct tofu_poller;

/* Asks the poller's waiter, if it has one, to stop: it calls back once more
 * with TOFU_WAITER_STOPPED and exits. Called by tofu_poller_destroy. */
void tofu_waiter_stop(struct tofu_poller *p);
/* Frees the waiter's state; called when the poller itself is freed (the
 * thread has exited by then: it held a reference). */
void tofu_waiter_free(struct tofu_poller *p);

#endif
