/** The code learners start from: it compiles and runs, and sleeps the naive way (a lost wake-up). */
export const VHOST_POLL_STARTER = `// vhost-poll: the service loop of a vhost-user poll-mode core.
//
// A DPDK process (OVS-DPDK, say) owns one host core. It reads the guest's TX virtqueue straight
// from shared guest memory and hands the frames to the NIC. The engine runs the loop and asks you:
//   burst(core)  chains are waiting: how many to take in this pass (1–256)?
//   idle(core)   the ring is empty: keep polling for N more ns (return N), or return 'sleep' to
//                block in epoll_wait() on the kickfd until the guest kicks;
//   wake(core)   a kick woke the core (it read the kickfd); it polls again right after.
//
// The traffic: the guest sends bursts of 8–24 small frames. Between bursts its application
// "thinks" for 1 µs up to about 35 µs; a few times per run it goes quiet for hundreds of µs or
// a few ms. Costs: polling burns the core whether or not anything arrives. A kick is a VM exit
// for the guest, and a sleeping core needs WAKE_NS (1.7 µs) before it polls again.
//
// This starter runs, and sleeps the first time the ring is empty. Press Check: the run stalls.
// Read what check 2 says, then work through the TODOs in order, pressing Check after each.
import { type Core, DPDK_BURST, POLL_NS, WAKE_NS } from 'iovlab/vhost-poll';

export function burst(core: Core): number {
  // TODO 5 (last): does the burst size matter here? Try 1 and 256 and compare the figures.
  return DPDK_BURST;
}

export function idle(core: Core): number | 'sleep' {
  // TODO 4: sleeping at the first empty poll is correct but slow: every burst then starts with a
  //   kick and a wake-up. Keep polling while core.idleNs is below a budget (return how many more
  //   ns to poll), and only then go to sleep. Which budget covers the think time but not the
  //   quiet periods? Watch the p99 latency, exits and CPU figures as you change it.
  //
  // TODO 1: the engine started the core with notifications suppressed, so the guest does not
  //   kick. Sleeping like this waits for a kick that never comes. Ask for kicks before sleeping.
  //
  // TODO 2: between the core's last poll and your enable, the guest may have published a chain;
  //   it saw notifications suppressed, so it did not kick, and it never will for that chain.
  //   After enabling, look at the ring once more. If something is there, do not sleep: suppress
  //   notifications again and keep polling.
  return 'sleep';
}

export function wake(core: Core): void {
  // TODO 3: the core is awake again, but the guest is still asked to kick: each frame it sends
  //   now costs it a VM exit for nothing. (With EVENT_IDX the damage is smaller — why?)
}
`;
