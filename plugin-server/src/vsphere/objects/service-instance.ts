import { AboutInfo, ServiceContent } from '../generated';
import { VimClient } from '../soap/vim-client';

/** ServiceInstance: the root of the API; its content is fetched once by VimClient.connect(). */
export function serviceContent(client: VimClient): ServiceContent {
  return client.serviceContent;
}

export function about(client: VimClient): AboutInfo {
  return client.serviceContent.about;
}

/** True for vCenter (VirtualCenter), false for a standalone ESXi host. */
export function isVCenter(client: VimClient): boolean {
  return client.serviceContent.about.apiType === 'VirtualCenter';
}
