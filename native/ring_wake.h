/*
 * The kernel wake of a poller (Linux io_uring, see tofu_ring_start): the
 * kernel itself tells the runtime's event loop that the poller has something
 * ready, without a thread of ours in between.
 */
#ifndef TOFU_RING_WAKE_H
#define TOFU_RING_WAKE_H

struct tofu_poller;

/* Closes the poller's ring, if it has one, cancelling an arm in flight.
 * Called by tofu_poller_destroy on the thread that drives the poller. */
void tofu_ring_stop(struct tofu_poller *p);

#endif
