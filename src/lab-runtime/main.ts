/**
 * lab.js: the interactive part of lesson pages with labs or cells (a classic IIFE script,
 * OFFLINE.md). Registers <iov-lab> and <iov-cell>; the editor bundle is loaded later, on demand.
 */
import { IovCell } from './cell-element.ts';
import { setBundleBase } from './editor.ts';
import { IovLab } from './lab-element.ts';

const me = document.currentScript as HTMLScriptElement | null;
if (me?.src) setBundleBase(me.src);

if (!customElements.get('iov-lab')) customElements.define('iov-lab', IovLab);
if (!customElements.get('iov-cell')) customElements.define('iov-cell', IovCell);
