/* virtio-net over tap, with vhost-net: being written. */
#include "virtio.h"
