// Portal's few lines of browser script.

window.portal = {
  // Copies a value shown once to the clipboard: the Clipboard API where the page may use it (HTTPS, localhost),
  // else a hidden text area and the older copy command. Says whether it worked.
  copy: async text => {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      const area = document.createElement('textarea');
      area.value = text;
      area.setAttribute('readonly', '');
      area.style.position = 'fixed';
      area.style.opacity = '0';
      document.body.appendChild(area);
      area.select();
      const copied = document.execCommand('copy');
      area.remove();
      return copied;
    }
  },
};

// Enter in a dialog's field presses the dialog's main button (the one marked data-dialog-submit), as it would in a
// form. Not in a text area (Enter makes a new line there), and not in dialogs that destroy something (they have no
// marked button: those ask for a deliberate click).
document.addEventListener('keydown', event => {
  if (event.key !== 'Enter' || event.shiftKey || event.ctrlKey || event.altKey || event.metaKey || event.isComposing) {
    return;
  }

  const field = event.target;
  if (!(field instanceof HTMLInputElement) || ['checkbox', 'radio', 'button', 'submit'].includes(field.type)) {
    return;
  }

  const submit = field.closest('.mud-dialog')?.querySelector('[data-dialog-submit]:not([disabled])');
  if (!submit) {
    return;
  }

  event.preventDefault();
  // The field's value reaches the server on change: send it before the click that submits.
  field.dispatchEvent(new Event('change', { bubbles: true }));
  submit.click();
});
