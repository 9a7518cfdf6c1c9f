/** Every file under `dir`, sorted, as [posixRelativePath, absolutePath] (shared by build scripts). */
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export function listFiles(dir) {
  const out = [];
  const rec = (d) => {
    for (const name of readdirSync(d).sort()) {
      const abs = join(d, name);
      const st = statSync(abs);
      if (st.isDirectory()) rec(abs);
      else if (st.isFile()) out.push([relative(dir, abs).split(sep).join('/'), abs]);
    }
  };
  rec(dir);
  return out;
}
