// Linux's epoll, which Swift's Glibc module does not include; cpd-bench's load client runs on it.
#include <sys/epoll.h>
