


label
