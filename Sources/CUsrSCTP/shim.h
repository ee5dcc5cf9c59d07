// usrsctp (Debian libusrsctp-dev) in AF_CONN mode without its own threads: the parts Swift
// cannot call directly — packed option structs, the notification union, errno, htonl —
// as small static functions. No logic beyond filling and reading those structs.
#ifndef CLASSBOX_CUSRSCTP_SHIM_H
#define CLASSBOX_CUSRSCTP_SHIM_H
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <usrsctp.h>

typedef int (*cusrsctp_output_fn)(void *address, void *buffer, size_t length, uint8_t tos, uint8_t set_df);

/* Once per process. Timers are driven by cusrsctp_advance; RTO and heartbeat as
   libdatachannel sets them for WebRTC (RTO from 1 s, heartbeat 10 s, delayed SACK 20 ms),
   the backoff capped at 3 s as libwebrtc's dcsctp transport caps it (kMaxTimerBackoffDuration):
   on a lossy school link an INIT or OPEN lost three times in a row would otherwise wait
   1 + 2 + 4 + 8 s, and a real videobridge forwards no video until the channel is open. */
static inline void cusrsctp_init(cusrsctp_output_fn output) {
    usrsctp_init_nothreads(0, output, NULL);
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    usrsctp_sysctl_set_sctp_rto_min_default(1000);
    usrsctp_sysctl_set_sctp_rto_initial_default(1000);
    usrsctp_sysctl_set_sctp_rto_max_default(3000);
    usrsctp_sysctl_set_sctp_init_rto_max_default(3000);
    usrsctp_sysctl_set_sctp_heartbeat_interval_default(10000);
    usrsctp_sysctl_set_sctp_delayed_sack_time_default(20);
}

static inline void cusrsctp_advance(uint32_t elapsed_milliseconds) { usrsctp_handle_timers(elapsed_milliseconds); }

static inline struct sockaddr_conn cusrsctp_address(void *address, uint16_t port) {
    struct sockaddr_conn conn;
    memset(&conn, 0, sizeof conn);
    conn.sconn_family = AF_CONN;
    conn.sconn_port = htons(port);
    conn.sconn_addr = address;
    return conn;
}

/* A non-blocking one-to-one socket bound to (address, port), with the options of a WebRTC
   data channel transport (RFC 8831 §6): record info on receive, no Nagle, stream reset,
   association events, `streams` each way, path MTU fixed (no PMTU discovery over DTLS).
   NULL on failure (errno set). */
static inline struct socket *cusrsctp_open(void *address, uint16_t port, uint16_t streams, uint32_t mtu) {
    struct socket *so = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
    if (so == NULL) return NULL;
    int on = 1;
    struct linger linger = { 1, 0 };
    struct sctp_assoc_value reset;
    memset(&reset, 0, sizeof reset);
    reset.assoc_id = SCTP_ALL_ASSOC;
    reset.assoc_value = SCTP_ENABLE_RESET_STREAM_REQ;
    struct sctp_initmsg init;
    memset(&init, 0, sizeof init);
    init.sinit_num_ostreams = streams;
    init.sinit_max_instreams = streams;
    struct sctp_paddrparams path;
    memset(&path, 0, sizeof path);
    path.spp_flags = SPP_PMTUD_DISABLE;
    path.spp_pathmtu = mtu;
    struct sctp_event event;
    memset(&event, 0, sizeof event);
    event.se_assoc_id = SCTP_ALL_ASSOC;
    event.se_on = 1;
    event.se_type = SCTP_ASSOC_CHANGE;
    struct sockaddr_conn local = cusrsctp_address(address, port);
    if (usrsctp_set_non_blocking(so, 1) < 0
        || usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof on) < 0
        || usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on) < 0
        || usrsctp_setsockopt(so, SOL_SOCKET, SO_LINGER, &linger, sizeof linger) < 0
        || usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &reset, sizeof reset) < 0
        || usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof init) < 0
        || usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &path, sizeof path) < 0
        || usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_EVENT, &event, sizeof event) < 0
        || usrsctp_bind(so, (struct sockaddr *)&local, sizeof local) < 0) {
        int saved = errno;
        usrsctp_close(so);
        errno = saved;
        return NULL;
    }
    return so;
}

/* Starts the association (INIT); both sides may do so (RFC 8831 §6: collisions resolve). */
static inline int cusrsctp_connect(struct socket *so, void *address, uint16_t port) {
    struct sockaddr_conn remote = cusrsctp_address(address, port);
    if (usrsctp_connect(so, (struct sockaddr *)&remote, sizeof remote) < 0 && errno != EINPROGRESS) return -errno;
    return 0;
}

/* One whole message on stream `sid` with payload protocol `ppid`: bytes queued, or -errno
   (-EWOULDBLOCK: the send buffer is full). */
static inline long cusrsctp_send(struct socket *so, const void *data, size_t length, uint16_t sid, uint32_t ppid) {
    struct sctp_sndinfo info;
    memset(&info, 0, sizeof info);
    info.snd_sid = sid;
    info.snd_flags = SCTP_EOR;
    info.snd_ppid = htonl(ppid);
    ssize_t sent = usrsctp_sendv(so, data, length, NULL, 0, &info, sizeof info, SCTP_SENDV_SNDINFO, 0);
    return sent < 0 ? -errno : (long)sent;
}

enum {
    CUSRSCTP_NOTHING = 0,
    CUSRSCTP_DATA = 1,
    CUSRSCTP_UP = 2,
    CUSRSCTP_DOWN = 3,
    CUSRSCTP_NOTIFICATION = 4
};

/* The next thing the socket has: CUSRSCTP_DATA (with length, stream, ppid and whether it
   ends a message), an association event, CUSRSCTP_NOTHING, or -errno. */
static inline int cusrsctp_receive(struct socket *so, void *buffer, size_t capacity, size_t *length, uint16_t *sid,
                                   uint32_t *ppid, int *complete) {
    struct sctp_rcvinfo info;
    memset(&info, 0, sizeof info);
    socklen_t info_length = sizeof info;
    unsigned int info_type = 0;
    int flags = 0;
    struct sockaddr_conn from;
    socklen_t from_length = sizeof from;
    ssize_t received = usrsctp_recvv(so, buffer, capacity, (struct sockaddr *)&from, &from_length, &info, &info_length,
                                     &info_type, &flags);
    if (received < 0) return (errno == EWOULDBLOCK || errno == EAGAIN) ? CUSRSCTP_NOTHING : -errno;
    if (received == 0) return CUSRSCTP_DOWN;
    *length = (size_t)received;
    *complete = (flags & MSG_EOR) != 0;
    if (flags & MSG_NOTIFICATION) {
        const union sctp_notification *note = (const union sctp_notification *)buffer;
        if ((size_t)received >= sizeof(note->sn_assoc_change) && note->sn_header.sn_type == SCTP_ASSOC_CHANGE) {
            switch (note->sn_assoc_change.sac_state) {
            case SCTP_COMM_UP: return CUSRSCTP_UP;
            case SCTP_COMM_LOST: case SCTP_SHUTDOWN_COMP: case SCTP_CANT_STR_ASSOC: return CUSRSCTP_DOWN;
            default: break;
            }
        }
        return CUSRSCTP_NOTIFICATION;
    }
    *sid = info.rcv_sid;
    *ppid = ntohl(info.rcv_ppid);
    return CUSRSCTP_DATA;
}
#endif
