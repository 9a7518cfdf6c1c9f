/**
 * The runtime values of the module learners import as 'iovlab/virtio-backend'. Its declarations
 * (what Monaco shows) are in api-dts.ts; a test checks the two agree.
 */
import * as S from '../../hw/virtio/spec.ts';

export const VIRTIO_BACKEND_API = Object.freeze({
  VIRTQ_DESC_F_NEXT: S.VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE: S.VIRTQ_DESC_F_WRITE,
  VIRTQ_DESC_F_INDIRECT: S.VIRTQ_DESC_F_INDIRECT,
  VIRTQ_AVAIL_F_NO_INTERRUPT: S.VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_USED_F_NO_NOTIFY: S.VIRTQ_USED_F_NO_NOTIFY,
  DESC_SIZE: S.DESC_SIZE,
  NET_HDR_SIZE: S.NET_HDR_SIZE,
  vringNeedEvent: (eventIdx: number, newIdx: number, old: number): boolean => S.vringNeedEvent(eventIdx, newIdx, old),
});
